"""Programs that run beside the service for the demo and the tests, outside its package."""
