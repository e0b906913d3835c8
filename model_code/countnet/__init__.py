"""Counting items in bin photos: data, model, training, evaluation and serving building blocks.

The contracts countnet shares with the other parts (the recipe, the fixed split, the metric lines, the
manifest layout, the ABID label rule, the endpoint's answer) live in `contracts/`, which ships beside
`countnet/` wherever it runs: the SageMaker training source and the model's `code/` folder.
"""
