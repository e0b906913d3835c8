"""Pure rules of reviewing: what a resolution may say, the queue's order, the weekly figures."""
