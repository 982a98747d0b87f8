"""About tab: the study, what the app does, metric definitions, data sources and licences, intended use."""

from bre_core.tasks.protocol import SCORING_RULES
from bre_core.ui.compare_view import markdown_text

ABOUT = """
## What this is
`bre` compares **general-domain** and **biomedical-domain** language models on biomedical relation extraction, side
by side. It follows Brokman & Kavuluru, *How Important is Domain Specificity in Language Models and Instruction
Finetuning for Biomedical Relation Extraction?* (arXiv:2402.13470; NLDB 2025), which asked whether biomedical
pretraining (RQ1) and biomedical instruction tuning (RQ2) are worth it, and found that general models usually win.

**Task.** The model reads a raw passage with the study's instruction and *generates* every relation as a sentence
("the relation between X and Y is …"); the text is parsed back into relations and scored.

## Tabs
- **Compare**: two models on your text or a benchmark example; relations as tables, marked against the gold;
  entity strings highlighted in the passage; the raw generation. Benchmark examples with predictions in a run are
  shown at once (marked *precomputed*, with the run's provenance); *Re-run live* runs the models.
- **Dashboard**: leaderboards and the study's comparisons from run folders.
- **Error cases**: where two runs agree, disagree or both fail, by relation and class.
- **Corpus**: the corpora in the study's task formats, with the best F1 the output format allows.

## Metrics
- **Precision** = correct predicted relations / predicted relations; **recall** = correct / gold relations;
  **F1** = their harmonic mean. **Micro**: counted over all relations; **macro**: the mean of per-class F1.
- A predicted relation is correct when it matches a gold relation under the dataset's rule — ChemProt:
  head, tail (the gold lower-cased) and class; DDI: head, tail (case-sensitive, in order) and class; DCE: the set
  of drugs and the class; CDR: the chemical and disease strings (the corrected protocol: the MeSH concepts they
  name, so that two spellings of one pair count once).
- **Parse failures**: pieces of the output that match no pattern, plus relations with an unknown label word.
- **Confidence intervals**: paired bootstrap over documents (95%); p-values: approximate randomisation.
- **Two scoring protocols** (a choice on the Compare and Dashboard tabs): **study**, exactly what the published
  study's scoring code does, quirks included (the default, so that numbers compare with the paper's), and
  **corrected**, the project's rules. Where they differ:

## Data
| corpus | source | licence |
|---|---|---|
| ChemProt | BioCreative VI CHEMPROT | BioCreative, research use |
| CDR | BioCreative V CDR (`CDR.Corpus.v010516`) | US Government work (public domain) |
| DDI | DDI-2013 (Herrero-Zazo et al.) | CC BY-NC 4.0 — **non-commercial use only** |
| DCE | Drug Combination Extraction (Tiktinsky et al., NAACL 2022) | MIT |

## Intended use
A **research tool** for comparing language models. It is **not for clinical use**: its outputs are not medical
advice and must not inform the care of any patient.
"""


def protocols_table() -> str:
    """The scoring rules on which the protocols differ, as a Markdown table (from tasks/protocol.py)."""
    rows = [
        f"| {markdown_text(r.title)} | {markdown_text(r.study)} | {markdown_text(r.corrected)} |" for r in SCORING_RULES
    ]
    return "\n".join(["| rule | study | corrected |", "|---|---|---|", *rows])


def build(gr) -> None:
    head, tail = ABOUT.split("\n## Data\n", 1)
    gr.Markdown(f"{head}\n{protocols_table()}\n\n## Data\n{tail}")
