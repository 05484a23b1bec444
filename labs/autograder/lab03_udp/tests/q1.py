OK_FORMAT = True

test = {   'name': 'q1',
    'points': 2,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_datagram_handler(DatagramUpperHandler, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_datagram_handler(DatagramUpperHandler, 'bytes')\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
