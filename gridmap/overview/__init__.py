"""The area overview (网格总览) and the home page that sends each role where it starts."""
