OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_is_int(largest, 'largest')\n", 'hidden': False, 'locked': False},
                                   {   'code': ">>> assert largest == 2 ** 32 - 1, '4 bytes hold 32 bits: count the values an unsigned 32-bit number can take, and remember that one of them is 0'\n",
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
