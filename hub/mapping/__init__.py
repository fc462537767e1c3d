"""Partner mappings: data (YAML) that turns a reader's generic tree into a canonical document.

    mapping = load_mapping(mappings_dir, partner_id, doctype)     # cached; ConfigurationError if none
    document, problems = MappingEngine().map(parsed, mapping, source)

`mapping.source` holds the reader options (pass it to FormatReader.read); `mapping.digest` names
the version of the mapping that mapped a document. The mapping language is described in engine.py.
"""

from hub.mapping.engine import Mapping, MappingEngine, compile_mapping
from hub.mapping.loader import load_mapping

__all__ = ["Mapping", "MappingEngine", "compile_mapping", "load_mapping"]
