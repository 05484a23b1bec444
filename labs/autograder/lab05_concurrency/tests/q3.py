OK_FORMAT = True

test = {   'name': 'q3',
    'points': 4,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_results(results, 'complete')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_results(results, 'sleeping')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_results(results, 'cpu', cores_free=cores_free)\n", 'hidden': True, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
