using System.Globalization;
using System.Text;

namespace Samples.Common;

/// <summary>Two line charts side by side, written as plain SVG: training loss by step, and dev nDCG@10 by step.</summary>
public static class CurvesSvg
{
    private const int PanelWidth = 460, PanelHeight = 300, Margin = 50;
    private static readonly string[] s_colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"];

    public static string Render(IReadOnlyDictionary<string, List<(int Step, double Loss)>> losses, IReadOnlyDictionary<string, List<(int Step, double Ndcg)>> dev)
    {
        var svg = new StringBuilder();
        int width = 2 * (PanelWidth + Margin) + Margin, height = PanelHeight + 2 * Margin + 20 * Math.Max(losses.Count, 1);
        svg.AppendLine(Inv($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.AppendLine(Inv($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>"));
        string[] names = losses.Keys.Union(dev.Keys).ToArray();
        Panel(svg, Margin, "training loss (smoothed) by step", names, losses.ToDictionary(p => p.Key, p => Smooth(p.Value)));
        Panel(svg, 2 * Margin + PanelWidth, "dev nDCG@10 by step", names, dev.ToDictionary(p => p.Key, p => p.Value.Select(v => ((double)v.Step, v.Ndcg)).ToList()));
        for (int i = 0; i < names.Length; i++)
        {
            int y = PanelHeight + 2 * Margin + 20 * i;
            svg.AppendLine(Inv($"<line x1=\"{Margin}\" y1=\"{y - 4}\" x2=\"{Margin + 20}\" y2=\"{y - 4}\" stroke=\"{Colour(i)}\" stroke-width=\"2\"/>"));
            svg.AppendLine(Inv($"<text x=\"{Margin + 26}\" y=\"{y}\">{Escape(names[i])}</text>"));
        }
        svg.AppendLine("</svg>");
        return svg.ToString();
    }

    private static void Panel(StringBuilder svg, int left, string title, string[] names, Dictionary<string, List<(double X, double Y)>> series)
    {
        int top = Margin;
        svg.AppendLine(Inv($"<text x=\"{left}\" y=\"{top - 12}\" font-weight=\"bold\">{Escape(title)}</text>"));
        svg.AppendLine(Inv($"<rect x=\"{left}\" y=\"{top}\" width=\"{PanelWidth}\" height=\"{PanelHeight}\" fill=\"none\" stroke=\"#888\"/>"));
        var points = series.Values.SelectMany(s => s).Where(p => double.IsFinite(p.Y)).ToList();
        if (points.Count == 0)
            return;
        double x0 = 0, x1 = Math.Max(1, points.Max(p => p.X));
        double y0 = Math.Min(0, points.Min(p => p.Y)), y1 = points.Max(p => p.Y);
        if (y1 <= y0)
            y1 = y0 + 1;
        for (int t = 0; t <= 4; t++)
        {
            double v = y0 + (y1 - y0) * t / 4;
            double y = top + PanelHeight - (v - y0) / (y1 - y0) * PanelHeight;
            svg.AppendLine(Inv($"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + PanelWidth}\" y2=\"{y:F1}\" stroke=\"#eee\"/>"));
            svg.AppendLine(Inv($"<text x=\"{left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{v:0.###}</text>"));
            double s = x0 + (x1 - x0) * t / 4;
            svg.AppendLine(Inv($"<text x=\"{left + PanelWidth * t / 4.0:F1}\" y=\"{top + PanelHeight + 16}\" text-anchor=\"middle\">{s:0}</text>"));
        }
        foreach ((string name, List<(double X, double Y)> line) in series)
        {
            if (line.Count == 0)
                continue;
            string path = string.Join(' ', line.Where(p => double.IsFinite(p.Y)).Select((p, i) =>
                Inv($"{(i == 0 ? 'M' : 'L')}{left + (p.X - x0) / (x1 - x0) * PanelWidth:F1},{top + PanelHeight - (p.Y - y0) / (y1 - y0) * PanelHeight:F1}")));
            string colour = Colour(Array.IndexOf(names, name));
            svg.AppendLine(Inv($"<path d=\"{path}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>"));
            if (line.Count <= 20)
            {
                foreach ((double x, double y) in line)
                    svg.AppendLine(Inv($"<circle cx=\"{left + (x - x0) / (x1 - x0) * PanelWidth:F1}\" cy=\"{top + PanelHeight - (y - y0) / (y1 - y0) * PanelHeight:F1}\" r=\"3\" fill=\"{colour}\"/>"));
            }
        }
    }

    /// <summary>A moving average over ~2% of the steps, so the trend shows through the per-batch noise.</summary>
    private static List<(double X, double Y)> Smooth(List<(int Step, double Loss)> values)
    {
        int window = Math.Max(1, values.Count / 50);
        var result = new List<(double, double)>(values.Count);
        double sum = 0;
        for (int i = 0; i < values.Count; i++)
        {
            sum += values[i].Loss;
            if (i >= window)
                sum -= values[i - window].Loss;
            result.Add((values[i].Step, sum / Math.Min(i + 1, window)));
        }
        return result;
    }

    private static string Colour(int i) => s_colours[Math.Max(0, i) % s_colours.Length];

    private static string Escape(string s) => s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
