"""SynthSign: a procedural, seeded multilingual sign corpus (Prompt2Sign poses).

Modules: `words` (the concept inventory), `morphology` and `grammar`
(sentences in 7 spoken languages, sign orders of 8 sign languages), `motion`
(parametric signs, signers, rendering), `lexicon` (signs per language, shared
within the Swiss family), `corpus` (named sizes and splits in the example
schema), `recognizer` (the sign recogniser used for gloss accuracy) and
`export` (the Prompt2Sign file layout).
"""
