OK_FORMAT = True

test = {   'name': 'q2',
    'points': 3,
    'suites': [   {   'cases': [   {'code': ">>> from socklab import grading\n>>> grading.check_talk(talk, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_talk(talk, 'once')\n", 'hidden': True, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_talk(talk, 'pieces')\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
