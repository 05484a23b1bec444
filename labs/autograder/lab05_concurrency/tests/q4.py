OK_FORMAT = True

test = {   'name': 'q4',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> assert threads_and_sleep in (\'a\', \'b\', \'c\') and threads_and_cpu in (\'a\', \'b\', \'c\'), "each answer is one letter: \'a\', \'b\' or '
                                               '\'c\'"\n',
                                       'hidden': False,
                                       'locked': False},
                                   {'code': ">>> assert threads_and_sleep == 'b', 'threads_and_sleep: what does a thread hold, or not hold, while it sleeps?'\n", 'hidden': True, 'locked': False},
                                   {   'code': ">>> assert threads_and_cpu == 'a', 'threads_and_cpu: compare threading with serial for computing work in your results'\n",
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
