OK_FORMAT = True

test = {   'name': 'q2',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'leave')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'churn')\n", 'hidden': False, 'locked': False},
                                   {   'code': ">>> assert removed_in in ('setup', 'handle', 'finish', 'broadcast'), 'removed_in must be one of the four method names'\n",
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
