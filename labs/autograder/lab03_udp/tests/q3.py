OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [   {'code': '>>> assert unsafe in (\'a\', \'b\', \'c\'), "unsafe must be \'a\', \'b\' or \'c\'"\n', 'hidden': False, 'locked': False},
                                   {   'code': ">>> assert unsafe == 'b', 'a retry makes the server handle one request twice: which server changes something each time it handles a request, so that "
                                               "twice is not the same as once?'\n",
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
