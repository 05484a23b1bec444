OK_FORMAT = True

test = {   'name': 'q4',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> assert threads_and_sleep in (\'a\', \'b\', \'c\') and threads_and_cpu in (\'a\', \'b\', \'c\'), "each answer is one letter: \'a\', \'b\' or '
                                               '\'c\'"\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
