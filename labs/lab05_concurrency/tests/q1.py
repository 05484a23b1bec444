OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': ">>> assert isinstance(predicted, dict) and set(predicted) == {(m, k) for m in ('serial', 'threading', 'forking') for k in ('sleeping', 'computing')} "
                                               "and all((isinstance(v, (int, float)) and v > 0 for v in predicted.values())), 'replace each ... in predicted with a number of seconds, and keep the "
                                               "six keys as given'\n",
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
