"""Labeling: queues in the store, selection strategies that pick what is worth a person's time,
file and Label Studio formats both ways, agreement between annotators, and label audits."""
