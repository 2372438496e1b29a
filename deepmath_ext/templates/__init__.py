"""Prompt-style registry: one source of truth for the prompts of training, evaluation and data prep."""

from deepmath_ext.templates.registry import (
    BOS_RULES,
    TEMPLATE_RESOLVER_NAME,
    PromptTemplate,
    get_template,
    list_templates,
    model_families,
    register_template_resolver,
    template_for_model,
)

__all__ = [
    "BOS_RULES",
    "TEMPLATE_RESOLVER_NAME",
    "PromptTemplate",
    "get_template",
    "list_templates",
    "model_families",
    "register_template_resolver",
    "template_for_model",
]
