"""Text beyond ASCII for the replayer's expressions: len() and indexing count
characters, not bytes, and names need not be ASCII."""


def greet(name):
    greeting = "grüß dich, " + name  # replay-marker: greet
    return greeting


def main():
    word = "brûlée"
    naïve = {"crème": word, "√2": 1.414}
    letters = list(word)
    message = greet("zoë")  # replay-marker: main-greet
    print(len(word), naïve["crème"], letters[2], message)  # replay-marker: main-print


main()
