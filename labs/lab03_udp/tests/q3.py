OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {'code': '>>> assert unsafe in (\'a\', \'b\', \'c\'), "unsafe must be \'a\', \'b\' or \'c\'"\n', 'hidden': False, 'locked': False},
                                   {   'code': ">>> assert unsafe == 'b', 'think of a lost answer rather than a lost request: which server would then do the same thing twice, with a different "
                                               "result?'\n",
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
