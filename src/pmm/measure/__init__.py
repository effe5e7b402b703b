"""Measuring data items and Time Release Study figures from Customs microdata.

- `contract`: the tables and columns an extract holds (docs/microdata-contract.md);
- `verify`: strict checking with file, row and column (`verify(folder) -> Report`);
- `microdata.Microdata`: a verified folder bound to an engine (DuckDB or Spark);
- `trs`: Time Release Study (`Study`, `run`, `segments`);
- `items`: the framework's measurable data items as submission CSV rows;
- `generate`: synthetic microdata with documented distributions;
- `queries`: every measurement, once, as Ibis expressions; `engine`: the engines that run them.
"""
