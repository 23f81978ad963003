import gc

import pytest

from monitor.heap import BATCH_GEN0_THRESHOLD, fewer_collections


def test_batch_settings_apply_inside_and_are_restored_after():
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold() == (BATCH_GEN0_THRESHOLD, *threshold[1:])
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0


def test_settings_are_restored_when_the_batch_fails():
    threshold = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("database gone")
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_of_a_batch_is_collected_when_it_ends():
    import weakref

    class Node:
        pass

    for _ in range(3):  # batch after batch, as a daemon runs them
        with fewer_collections():
            node = Node()
            node.self = node  # a cycle: reference counting alone never frees it
            gone = weakref.ref(node)
            del node
        assert gone() is None
