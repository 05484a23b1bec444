OK_FORMAT = True

test = {   'name': 'q2',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_request(request, 'basic')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_request(request, 'gives_up')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_request(request, 'retry')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_request(request, 'stranger')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_request(request, 'deadline')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_request(request, 'refused')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
