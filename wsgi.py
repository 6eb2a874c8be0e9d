from mealservice import create_app

app = create_app()
