OK_FORMAT = True

test = {   'name': 'q2',
    'points': 3,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_talk(talk, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_talk(talk, 'once')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_talk(talk, 'pieces')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_talk(talk, 'timeout')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
