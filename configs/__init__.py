"""Shipped YAML recipes, installed as package data so `lightning-gan fit` finds its default anywhere."""
