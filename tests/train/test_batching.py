"""Length bucketing and dynamic padding."""

from tuneforge.train.batching import collate, length_bucketed_batches


def test_batches_cover_every_example_once():
    """Every index appears exactly once per epoch, in batches of at most batch_size."""
    lengths = [(i * 7) % 23 + 1 for i in range(101)]
    batches = length_bucketed_batches(lengths, 8, seed=1, epoch=0, bucket_size=4)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(101))
    assert max(len(b) for b in batches) <= 8


def test_order_is_a_function_of_seed_and_epoch():
    """Same (seed, epoch) gives the same order (exact resume); another epoch reshuffles."""
    lengths = list(range(1, 200))
    a = length_bucketed_batches(lengths, 16, seed=3, epoch=2)
    assert a == length_bucketed_batches(lengths, 16, seed=3, epoch=2)
    assert a != length_bucketed_batches(lengths, 16, seed=3, epoch=3)


def test_buckets_reduce_padding():
    """Batches from length buckets pad far less than random batches would."""
    import random

    rng = random.Random(0)
    lengths = [rng.randint(5, 120) for _ in range(640)]
    batches = length_bucketed_batches(lengths, 32, seed=0, epoch=0, bucket_size=20)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert padded < 1.15 * sum(lengths)


def test_collate_pads_to_longest_in_batch():
    """Padding goes to the longest sequence of the batch, with a matching attention mask."""
    out = collate([[101, 5, 102], [101, 102]], pad_id=0)
    assert out["input_ids"].tolist() == [[101, 5, 102], [101, 102, 0]]
    assert out["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
