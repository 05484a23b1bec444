OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [   {   'cases': [{'code': '>>> assert unsafe in (\'a\', \'b\', \'c\'), "unsafe must be \'a\', \'b\' or \'c\'"\n', 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
