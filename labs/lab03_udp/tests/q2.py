OK_FORMAT = True

test = {   'name': 'q2',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> from socklab import grading\n>>> grading.check_request(request, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> from socklab import grading\n>>> grading.check_request(request, 'gives_up')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
