OK_FORMAT = True

test = {   'name': 'q2',
    'points': 3,
    'suites': [   {   'cases': [   {'code': ">>> socklab.grading.check_measure(measure, 'sleeping')\n", 'hidden': False, 'locked': False},
                                   {'code': ">>> socklab.grading.check_measure(measure, 'stops')\n", 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
