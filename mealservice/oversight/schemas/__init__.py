"""What the oversight API takes and gives, a module a face of it."""
