"""``python -m jaxloss.demo``: the demo is not in this release yet; this says so."""

import sys


def main() -> int:
    print(
        "The jaxloss demo (Flax models on scikit-learn's digits comparing losses) is not in "
        "this release yet.\nTry the README's optax example, or run the tests: "
        'pip install -e ".[test]" && pytest'
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
