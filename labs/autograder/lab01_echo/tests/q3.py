OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': ">>> assert b_is in ('answered at once', 'answered only after A closes', 'refused'), 'b_is must be one of the three strings given'\n",
                                       'hidden': False,
                                       'locked': False},
                                   {   'code': '>>> assert b_is == \'answered only after A closes\', "a serial server runs one handler at a time; B waits in the queue until A\'s handler returns"\n',
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
