OK_FORMAT = True

test = {   'name': 'q2',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> from socklab import grading\n>>> grading.check_framing(send_msg, recv_msg, 'roundtrip')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_framing(send_msg, recv_msg, 'closed')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
