OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {'code': ">>> assert isinstance(largest, int), 'largest must be an int'\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> assert largest == 2 ** 32 - 1, '4 bytes hold 32 bits: the largest unsigned value is 2 ** 32 - 1'\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
