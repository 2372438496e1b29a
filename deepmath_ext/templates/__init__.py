"""Prompt-style registry: one source of truth for the prompts of training, evaluation and data prep."""

from deepmath_ext.templates.registry import (
    TEMPLATE_RESOLVER_NAME,
    PromptTemplate,
    get_template,
    list_templates,
    register_template_resolver,
)

__all__ = [
    "TEMPLATE_RESOLVER_NAME",
    "PromptTemplate",
    "get_template",
    "list_templates",
    "register_template_resolver",
]
