/// The backtest's report: one self-contained HTML file (no network: the data is embedded as JSON
/// and an inline script draws the charts as SVG) — equity and PnL, inventory, the mid with our
/// quotes and fills, the spread, the order round trips of fills and the queue ahead at fill, and
/// the summary table. Each chart writes the figures it drew (`data-*` attributes and its caption)
/// so a test can read them back from the rendered page and hold them to the summary.
public enum BacktestHTML {
  /// `title` heads the page; `lines` are the summary as printed (shown under it).
  public static func render(_ r: BacktestResults, title: String, lines: [String]) -> String {
    let step = max(1, r.points.count / 1500)
    var pts: [BacktestResults.Point] = []
    var i = 0
    while i < r.points.count {
      pts.append(r.points[i])
      i += step
    }
    if let last = r.points.last, pts.last != last { pts.append(last) }
    var json = "{\"summary\":{"
    json += "\"fills\":\(r.fills),\"maker_fills\":\(r.makerFills),\"orders\":\(r.ordersSent),"
    json += "\"cancels\":\(r.cancelsSent),\"volume_base\":\(num(r.volumeBase)),"
    json += "\"volume_quote\":\(num(r.volumeQuote)),\"fees\":\(num(r.fees)),\"pnl\":\(num(r.pnl)),"
    json += "\"max_drawdown\":\(num(r.maxDrawdown)),\"inventory_min\":\(num(r.inventoryMin)),"
    json += "\"inventory_max\":\(num(r.inventoryMax)),\"final_inventory\":\(num(r.finalInventory)),"
    json += "\"sharpe\":\(r.sharpe.map(num) ?? "null"),"
    json += "\"average_queue_ahead\":\(r.averageQueueAhead.map(num) ?? "null")},"
    json += "\"t\":[" + pts.map { String($0.ns / 1_000_000) }.joined(separator: ",") + "],"
    json += "\"mid\":[" + pts.map { num($0.mid) }.joined(separator: ",") + "],"
    json += "\"our_bid\":[" + pts.map { num($0.ourBid) }.joined(separator: ",") + "],"
    json += "\"our_ask\":[" + pts.map { num($0.ourAsk) }.joined(separator: ",") + "],"
    json += "\"spread\":[" + pts.map { num($0.ask - $0.bid) }.joined(separator: ",") + "],"
    json += "\"pnl\":[" + pts.map { num($0.pnl) }.joined(separator: ",") + "],"
    json += "\"inventory\":[" + pts.map { num($0.inventory) }.joined(separator: ",") + "],"
    json +=
      "\"fills\":["
      + r.fillPoints.map {
        "[\($0.ns / 1_000_000),\($0.buy ? 1 : 0),\(num($0.price)),\(num($0.quantity)),\($0.maker ? 1 : 0),\(num($0.queueAhead)),\($0.roundTripNs)]"
      }.joined(separator: ",") + "]}"
    let summary = lines.map(escape).joined(separator: "\n")
    return """
      <!doctype html>
      <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
      <style>
      body{font:14px system-ui,sans-serif;margin:24px;background:#fff;color:#111}
      h1{font-size:20px} pre{background:#f4f4f6;padding:12px;border-radius:6px}
      .grid{display:grid;grid-template-columns:repeat(2,minmax(420px,1fr));gap:18px}
      figure{margin:0;border:1px solid #ddd;border-radius:6px;padding:8px}
      figcaption{font-weight:600;margin-bottom:4px} svg{width:100%;height:220px}
      table{border-collapse:collapse} td{padding:2px 12px 2px 0}
      </style></head><body>
      <h1>\(escape(title))</h1>
      <table id="summary"></table>
      <pre>\(summary)</pre>
      <div class="grid">
      <figure><figcaption id="cap-pnl">PnL (quote)</figcaption><svg id="chart-pnl"></svg></figure>
      <figure><figcaption id="cap-inventory">Inventory (base)</figcaption><svg id="chart-inventory"></svg></figure>
      <figure><figcaption id="cap-mid">Mid, our quotes (blue bid, red ask) and fills</figcaption><svg id="chart-mid"></svg></figure>
      <figure><figcaption id="cap-spread">Spread (quote)</figcaption><svg id="chart-spread"></svg></figure>
      <figure><figcaption id="cap-latency">Order round trip of fills (ms)</figcaption><svg id="chart-latency"></svg></figure>
      <figure><figcaption id="cap-queue">Queue ahead at entry of maker fills (base)</figcaption><svg id="chart-queue"></svg></figure>
      </div>
      <script type="application/json" id="data">\(json)</script>
      <script>
      (function(){
      const D=JSON.parse(document.getElementById('data').textContent);
      const NS='http://www.w3.org/2000/svg';
      function el(n,a){const e=document.createElementNS(NS,n);for(const k in a)e.setAttribute(k,a[k]);return e;}
      function frame(id){const s=document.getElementById(id);s.setAttribute('viewBox','0 0 600 220');return s;}
      function scale(v,lo,hi,a,b){return hi===lo?(a+b)/2:a+(v-lo)*(b-a)/(hi-lo);}
      function bounds(arrs){let lo=Infinity,hi=-Infinity;for(const a of arrs)for(const v of a){if(v===0&&a.skipZero)continue;if(v<lo)lo=v;if(v>hi)hi=v;}if(lo===Infinity){lo=0;hi=1;}return[lo,hi];}
      function axes(s,lo,hi){s.appendChild(el('line',{x1:50,y1:10,x2:50,y2:200,stroke:'#999'}));s.appendChild(el('line',{x1:50,y1:200,x2:590,y2:200,stroke:'#999'}));
        const t1=el('text',{x:2,y:16,'font-size':11});t1.textContent=(+hi.toPrecision(6));s.appendChild(t1);
        const t2=el('text',{x:2,y:200,'font-size':11});t2.textContent=(+lo.toPrecision(6));s.appendChild(t2);}
      function line(id,series,colors,extra){const s=frame(id);const t=D.t;if(t.length===0)return s;
        const [lo,hi]=bounds(series);axes(s,lo,hi);const t0=t[0],t1=t[t.length-1];
        series.forEach((a,k)=>{let d='';a.forEach((v,i)=>{if(v===0&&a.skipZero){return;}d+=(d?'L':'M')+scale(t[i],t0,t1,50,590).toFixed(1)+','+scale(v,lo,hi,200,10).toFixed(1);});
          s.appendChild(el('path',{d:d,fill:'none',stroke:colors[k],'stroke-width':1.2}));});
        if(extra)extra(s,lo,hi,t0,t1);return s;}
      function hist(id,values,unit){const s=frame(id);const n=values.length;if(n===0){s.dataset.count=0;return;}
        let lo=Math.min(...values),hi=Math.max(...values);if(hi===lo){hi=lo+1;}const B=30;const c=new Array(B).fill(0);
        for(const v of values){c[Math.min(B-1,Math.floor((v-lo)/(hi-lo)*B))]++;}const m=Math.max(...c);axes(s,0,m);
        c.forEach((k,i)=>{const h=k/m*190;s.appendChild(el('rect',{x:50+i*18,y:200-h,width:16,height:h,fill:'#4a7'}));});
        const a=el('text',{x:50,y:215,'font-size':11});a.textContent=(+lo.toPrecision(4))+' .. '+(+hi.toPrecision(4))+' '+unit;s.appendChild(a);
        s.dataset.count=n;}
      const S=D.summary;const tb=document.getElementById('summary');
      for(const k in S){const r=document.createElement('tr');r.innerHTML='<td>'+k+'</td><td data-key="'+k+'">'+S[k]+'</td>';tb.appendChild(r);}
      const pnl=line('chart-pnl',[D.pnl],['#222']);const lastP=D.pnl.length?D.pnl[D.pnl.length-1]:0;
      pnl.dataset.final=lastP;pnl.dataset.min=D.pnl.length?Math.min(...D.pnl):0;
      document.getElementById('cap-pnl').textContent+=': final '+lastP.toFixed(4);
      const inv=line('chart-inventory',[D.inventory],['#a50']);inv.dataset.min=Math.min(0,...D.inventory);inv.dataset.max=Math.max(0,...D.inventory);
      D.our_bid.skipZero=true;D.our_ask.skipZero=true;
      const mid=line('chart-mid',[D.mid,D.our_bid,D.our_ask],['#333','#26c','#c33'],(s,lo,hi,t0,t1)=>{
        for(const f of D.fills){s.appendChild(el('circle',{cx:scale(f[0],t0,t1,50,590),cy:scale(f[2],lo,hi,200,10),r:2.5,fill:f[1]?'#26c':'#c33'}));}});
      mid.dataset.fills=D.fills.length;
      document.getElementById('cap-mid').textContent+=': '+D.fills.length+' fills';
      line('chart-spread',[D.spread],['#777']);
      hist('chart-latency',D.fills.map(f=>f[6]/1e6),'ms');
      const q=D.fills.filter(f=>f[4]).map(f=>f[5]);hist('chart-queue',q,'base');
      const qs=document.getElementById('chart-queue');qs.dataset.mean=q.length?q.reduce((a,b)=>a+b,0)/q.length:'';
      document.body.dataset.drawn='yes';
      })();
      </script></body></html>

      """
  }

  static func num(_ v: Double) -> String {
    guard v.isFinite else { return "null" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
  }

  static func escape(_ s: String) -> String {
    var o = ""
    for c in s {
      switch c {
      case "&": o += "&amp;"
      case "<": o += "&lt;"
      case ">": o += "&gt;"
      case "\"": o += "&quot;"
      default: o.append(c)
      }
    }
    return o
  }
}
