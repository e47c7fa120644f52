"""One reader per file format (like Haystack's converters): each turns a file into text
(or, for .jsonl, articles); the article rules in ``rag.parse.articles`` apply after, once."""
