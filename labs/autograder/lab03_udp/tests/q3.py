OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {'code': '>>> assert unsafe in (\'a\', \'b\', \'c\'), "unsafe must be \'a\', \'b\' or \'c\'"\n', 'hidden': False, 'locked': False},
                                   {   'code': ">>> assert unsafe == 'b', 'a retry after a lost answer (not a lost request) would add the amount twice: only idempotent requests are safe to repeat'\n",
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
