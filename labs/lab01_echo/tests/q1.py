OK_FORMAT = True

test = {   'name': 'q1',
    'points': 3,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_upper_handler(UpperHandler, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_upper_handler(UpperHandler, 'pieces')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_upper_handler(UpperHandler, 'interleaved')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
