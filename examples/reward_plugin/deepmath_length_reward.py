"""Length-penalised accuracy: 1 for a correct answer within a character budget, less beyond it, 0 if wrong."""

from dataclasses import dataclass

from deepmath_ext.reward import reward_term, sample_grade


@dataclass(frozen=True)
class Settings:
    """reward.reward_kwargs.length_penalised.*; any other key is refused."""

    budget: int = 4000  # characters a correct answer may use at no cost
    max_penalty: float = 0.5  # taken off a correct answer twice the budget long (or longer)


@reward_term(keys=("length_penalty",), settings=Settings)
async def length_penalised(response, gold, extra_info, settings):
    """The verifier's grade (under the recipe's policy) minus a linear penalty past the budget."""
    over = max(len(response) - settings.budget, 0) / settings.budget
    penalty = min(over, 1.0) * settings.max_penalty
    correct = (await sample_grade()).correct
    return {"score": (1.0 - penalty) if correct else 0.0, "length_penalty": penalty}
