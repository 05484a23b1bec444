OK_FORMAT = True

test = {   'name': 'q1',
    'points': 3,
    'suites': [   {   'cases': [   {'code': ">>> from socklab import grading\n>>> grading.check_upper_handler(UpperHandler, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_upper_handler(UpperHandler, 'pieces')\n", 'hidden': True, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_upper_handler(UpperHandler, 'clients')\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
