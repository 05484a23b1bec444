OK_FORMAT = True

test = {   'name': 'q3',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_chat_server(ChatServer, 'slow')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> assert without_queue in ('a', 'b', 'c', 'd'), 'without_queue must be one of the letters a, b, c, d'\n", 'hidden': False, 'locked': False},
                                   {   'code': '>>> assert without_queue == \'c\', "sendall returns only once every byte is in the socket\'s buffer; what if the buffer never empties?"\n',
                                       'hidden': True,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
