OK_FORMAT = True

test = {   'name': 'q1',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'broadcast')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'pieces')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'ten')\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
