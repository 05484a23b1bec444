OK_FORMAT = True

test = {   'name': 'q1',
    'points': 2,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_framing(send_msg, None, 'prefix')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, None, 'whole')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
