OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [{'cases': [{'code': '>>> socklab.grading.check_predictions(predicted)\n', 'hidden': False, 'locked': False}], 'scored': True, 'setup': '', 'teardown': '', 'type': 'doctest'}]}
