OK_FORMAT = True

test = {   'name': 'q3',
    'points': 1,
    'suites': [{'cases': [{'code': ">>> socklab.grading.check_is_int(largest, 'largest')\n", 'hidden': False, 'locked': False}], 'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}]}
