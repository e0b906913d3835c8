"""CDK stacks and constructs of Binventory."""
