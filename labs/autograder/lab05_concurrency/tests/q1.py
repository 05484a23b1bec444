OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': '>>> assert isinstance(predicted, dict) and len(predicted) == 6 and all((isinstance(v, (int, float)) and v > 0 for v in predicted.values())), '
                                               "'predicted needs six positive numbers, one per (mode, kind) pair'\n",
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
