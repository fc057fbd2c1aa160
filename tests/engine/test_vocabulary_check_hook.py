"""``vocabulary_problem``: count and order of a model vocabulary against a dataset's classes."""
from declip_mm.engine.vocabulary_check_hook import vocabulary_problem

CLASSES = ('background', 'red box', 'blue_disc')


def test_matching_vocabularies_pass():
    assert vocabulary_problem(['background', 'red box', 'blue disc'], CLASSES) is None
    assert vocabulary_problem(['Background', 'red box; crate', ['disc', 'blue disc']],
                              CLASSES) is None  # case, synonyms, '_' as a space
    assert vocabulary_problem(['bg', 'crate', 'disc'], CLASSES) is None  # other wording


def test_count_and_order_are_refused():
    assert vocabulary_problem(['background', 'red box'], CLASSES) == (
        'the model vocabulary has 2 entries, the dataset 3 classes')
    assert vocabulary_problem(['background', 'blue disc', 'red box'], CLASSES) == (
        "the model vocabulary is in another order: entry 1 is 'blue disc', the dataset's class "
        "1 is 'red box' ('blue disc' is its class 2)")
    # duplicated names are left to the model's own check, which names them
    assert vocabulary_problem(['background', 'red box', 'red box'], CLASSES) is None
