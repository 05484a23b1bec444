OK_FORMAT = True

test = {   'name': 'q2',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'roundtrip')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'closed')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'pieces')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'many')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'fast')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_framing(send_msg, recv_msg, 'big')\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
