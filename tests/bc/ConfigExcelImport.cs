// The DataSet step of Business Central's RapidStart "Import from Excel", replayed on .NET's System.Data:
// codeunit 8618 "Config. Excel Exchange", procedures ImportExcel and ReadWorksheetData (Base Application
// AL source), statement for statement, with the workbook's cells given as a list instead of BC's
// WorksheetReader. BC hands the DataSet's XML to Config. XML Exchange; this program prints it.
//
//   mono ConfigExcelImport.exe SCHEMA.xsd CELLS.tsv OUT.xml
//
// SCHEMA.xsd: the workbook's XML map schema. CELLS.tsv: one line per cell in sheet order, then row-major:
// sheet number, row, column, value (tab, newline and backslash escaped as \t, \n, \\). Exit code 0 when
// the DataSet took every sheet; an exception (a type or null the DataSet refuses) fails it.
using System;
using System.Collections.Generic;
using System.Data;
using System.IO;
using System.Text;

class Cell { public int Row, Column; public string Value; }

static class ConfigExcelImport
{
    static string Unescape(string text)
    {
        var result = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                char next = text[++i];
                result.Append(next == 't' ? '\t' : next == 'n' ? '\n' : next);
            }
            else result.Append(text[i]);
        }
        return result.ToString();
    }

    static int Main(string[] args)
    {
        var sheets = new SortedDictionary<int, List<Cell>>();
        var columns = new SortedDictionary<int, List<int>>();  // per sheet: mapped column numbers (InitColumnMapping)
        foreach (string line in File.ReadAllLines(args[1], Encoding.UTF8))
        {
            string[] f = line.Split('\t');
            int sheet = int.Parse(f[1]);
            if (f[0] == "map") { if (!columns.ContainsKey(sheet)) columns[sheet] = new List<int>(); columns[sheet].Add(int.Parse(f[2])); continue; }
            if (!sheets.ContainsKey(sheet)) sheets[sheet] = new List<Cell>();
            sheets[sheet].Add(new Cell { Row = int.Parse(f[2]), Column = int.Parse(f[3]), Value = Unescape(f[4]) });
        }
        var dataSet = new DataSet();
        dataSet.ReadXmlSchema(args[0]);
        int dataColumnTableId = 0;
        foreach (var sheet in sheets)
        {
            ReadWorksheetData(dataSet, sheet.Value, columns[sheet.Key], dataColumnTableId);
            dataColumnTableId += 2;
        }
        dataSet.WriteXml(args[2]);
        return 0;
    }

    // ReadWorksheetData, as in codeunit 8618 (TempXMLBuffer: table column number -> DataSet column index).
    static void ReadWorksheetData(DataSet dataSet, List<Cell> cells, List<int> mappedColumns, int dataColumnTableId)
    {
        var xmlBuffer = new Dictionary<int, int>();
        foreach (int column in mappedColumns) xmlBuffer[column] = xmlBuffer.Count;
        DataTable dataTable = dataSet.Tables[dataColumnTableId];
        DataColumn dataColumn = dataTable.Columns[1];
        dataColumn.DataType = typeof(string);
        dataTable.BeginLoadData();
        DataRow dataRow = dataTable.NewRow();
        DataRow dataRow2 = null;
        bool sheetHeaderRead = false;
        int rowIn = 1, columnCount = 0, totalColumnCount = 0, currentRowIndex = 1, firstDataRow = 4, columnInt = 0;
        foreach (Cell cell in cells)
        {
            string cellValueText = cell.Value;
            bool rowChanged = currentRowIndex != cell.Row;
            if (!sheetHeaderRead)
            {
                if (cell.Row == 1 && cell.Column == 1)
                    dataRow[1] = cellValueText;
                if (cell.Row == 1 && cell.Column == 3)
                {
                    dataRow[0] = cellValueText;
                    dataTable.Rows.Add(dataRow);
                    dataTable.Columns[2].AllowDBNull = true;
                    dataTable = dataSet.Tables[dataColumnTableId + 1];
                    totalColumnCount = dataTable.Columns.Count - 1;
                    for (columnCount = 0; columnCount < totalColumnCount; columnCount++)
                        dataTable.Columns[columnCount].DataType = typeof(string);
                    columnCount = 0;
                    dataRow2 = dataTable.NewRow();
                    dataRow2.SetParentRow(dataRow);
                    sheetHeaderRead = true;
                }
            }
            else
            {
                if (rowIn == 1 && cell.Row >= firstDataRow && cell.Column == 1)
                {
                    totalColumnCount = columnCount;
                    columnCount = 0;
                    rowIn += 1;
                    firstDataRow = cell.Row;
                }
                if (rowChanged && cell.Row > firstDataRow && rowIn != 1)
                {
                    dataTable.Rows.Add(dataRow2);
                    dataTable.EndLoadData();
                    dataRow2 = dataTable.NewRow();
                    dataRow2.SetParentRow(dataRow);
                    rowIn += 1;
                    columnCount = 0;
                }
                if (rowIn != 1)
                    columnInt = cell.Column;
                int index;
                if (xmlBuffer.TryGetValue(columnInt, out index))
                {
                    dataTable.Columns[index].AllowDBNull = true;
                    dataRow2[index] = cellValueText;
                }
                columnCount = cell.Column + 1;
            }
            currentRowIndex = cell.Row;
        }
        dataTable.Rows.Add(dataRow2);
        dataTable.EndLoadData();
    }
}
