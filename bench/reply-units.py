"""Mines the replying unit of each answer in the Teddy Cup replies (答复意见): the unit
signing the closing lines, else one the reply forwards to (转交, 交办给 ...), else the
unit the reply names most; a reply that speaks as a town or street office (我镇,
我街道) without naming it gets no label. Units are read as a place code (A7县) and a
department (教育局, 公安局 ... canonical names below); a unit written without its code
(市交通运输局) takes the message's place at that level. Writes the department units
with the places the message itself names, in five folds, for `minhu-bench units` and
bench/baselines.py:

    python3 bench/reply-units.py ../shared/data/teddycup2020/replies.csv /tmp/units.csv
"""

import csv, re, collections, sys, random
rows=list(csv.DictReader(open(sys.argv[1],encoding='utf-8-sig')))
# department stems -> canonical type
DEPTS=[
 (r'教育局|教育体育局|教体局|教育和体育局|教育委员会|教委','教育局'),
 (r'公安局|公安分局|派出所','公安局'),
 (r'交警大队|交警支队|交通警察','交警'),
 (r'交通运输和旅游局|交通运输局|交通局|运管处|运管所|交通运输管理','交通运输局'),
 (r'城市管理和行政执法局|城市管理和综合执法局|城管执法局|城管局|城市管理局|城管执法大队|城管大队|行政执法局','城管局'),
 (r'住房和城乡建设局|住房城乡建设局|住建局|城乡建设局|建设局|住房保障局|房产局|住房保障和房产管理局|住保局','住建局'),
 (r'人力资源和社会保障局|人力资源和社会保障厅|人社局|人社厅|社会保险|社保局|劳动保障|劳动监察','人社局'),
 (r'自然资源和规划局|自然资源局|国土资源局|国土局|规划局|规划分局','自然资源局'),
 (r'生态环境局|环境保护局|环保局|生态环境分局|环保分局','生态环境局'),
 (r'卫生健康委员会|卫健委|卫生和计划生育委员会|卫计委|卫生局|卫健局','卫健委'),
 (r'市场监督管理局|市场监管局|工商局|质监局|食品药品监督管理局|食药监局|市场监督管理分局','市场监管局'),
 (r'民政局','民政局'),
 (r'财政局','财政局'),
 (r'发展和改革委员会|发改委|发改局','发改委'),
 (r'农业农村局|农业局|畜牧水产局','农业农村局'),
 (r'水利局|水务局','水利局'),
 (r'林业局','林业局'),
 (r'文化旅游广电体育局|文化和旅游局|文旅局|文体局|文化局|旅游局|文体广新局|文广新局','文旅局'),
 (r'商务局','商务局'),
 (r'税务局|税务分局','税务局'),
 (r'住房公积金管理中心|公积金中心','公积金中心'),
 (r'医疗保障局|医保局','医保局'),
 (r'应急管理局|安监局|安全生产监督管理局','应急管理局'),
 (r'行政审批服务局','行政审批服务局'),
 (r'电力公司|供电公司|电力局|供电局','供电'),
 (r'自来水公司|自来水有限公司|供水公司','供水'),
 (r'[\u4e00-\u9fff]{2,3}街道办事处','街道'),
 (r'[\u4e00-\u9fff]{2,3}镇人民政府|[\u4e00-\u9fff]{2,3}乡人民政府','乡镇'),
]
PLACE=r'([A-Z]\d{0,2}(?:市|区|县))'
UNIT=re.compile(r'(?:'+PLACE+r'|(市|区|县))?('+'|'.join(p for p,_ in DEPTS)+')')
BAD=re.compile(r'[我您本对该各贵你其此该转或和将处由给与及到是在的]|所在|辖区|相关|加强|组织|公开|证明')
def canon(stem):
    for p,c in DEPTS:
        if re.fullmatch(p,stem): return c,stem
    return None
def mentions(text):
    out=[]
    for m in UNIT.finditer(text):
        place, bare, stem = m.group(1), m.group(2), m.group(3)
        c=canon(stem)
        if not c: continue
        if c[0] in ('街道','乡镇') and BAD.search(re.sub(r'(街道办事处|镇人民政府|乡人民政府)$','',stem)): continue
        if place is None and bare: place='*'+bare
        kind,_=c
        if kind in ('街道','乡镇'):
            name=stem.replace('街道办事处','街道').replace('镇人民政府','镇').replace('乡人民政府','乡').replace('镇政府','镇')
            out.append((place,kind,name,m.start()))
        else: out.append((place,kind,kind,m.start()))
    return out
def place_of_message(r):
    m=re.search(PLACE, r['留言主题']+r['留言详情'])
    return m.group(1) if m else None
labels=[]; src=collections.Counter()
for r in rows:
    a=r['答复意见'].replace('_x000D_','').strip()
    selfref=re.search(r'我(镇|乡|街道|办事处)', a)
    tail=a[-80:]
    ms=mentions(tail); how='closing'
    if not ms:
        ms=mentions(a); how='body'
        if not ms: labels.append(None); src['none']+=1; continue
        sent=[m for m in ms if re.search(r'(转交|已转|转至|交办给|交由|转给|转)$', a[max(0,m[3]-4):m[3]])]
        if sent: ms=sent; how='forwarded'
        # the most mentioned unit, first mention breaks ties
        cnt=collections.Counter((p,k,n) for p,k,n,_ in ms)
        first={}
        for p,k,n,i in ms: first.setdefault((p,k,n),i)
        key=max(cnt,key=lambda x:(cnt[x],-first[x]))
    else:
        p,k,n,_=ms[-1]; key=(p,k,n)
    place,kind,name=key
    if selfref and kind not in ('街道','乡镇'): labels.append(None); src['self']+=1; continue
    if place is not None and place.startswith('*'):
        # a bare 市/区/县 unit: the message's place at that level
        mp=place_of_message(r)
        if mp and place=='*市': place=mp[0]+'市'
        elif mp and mp.endswith(place[1]): place=mp
        else: place=None
    elif place is None:
        place=place_of_message(r)
    if place is None: labels.append(None); src['noplace']+=1; continue
    labels.append((place,name,how)); src[how]+=1
print(f"labels: {sum(1 for l in labels if l)} of {len(rows)} replies ({dict(src)})")
# Department units only (a street or town is named by the message's own place words,
# which this data's place reader cannot check); their level is the label's place: a
# lone letter + 市 (A市) is the city, a code with digits a district or county.
out = []
for r, l in zip(rows, labels):
    if not l or l[1] in ('街道', '乡镇') or l[1].endswith(('街道', '镇', '乡')):
        continue
    place, dept, how = l
    level = 'city' if re.fullmatch(r'[A-Z]市', place) else 'district'
    text = r['留言主题'] + r['留言详情']
    codes = re.findall(PLACE, text)
    district = next((c for c in codes if not re.fullmatch(r'[A-Z]市', c)), '')
    city = (codes[0][0] + '市') if codes else ''
    out.append([r['留言编号'], r['留言主题'], r['留言详情'], place + dept, level, dept, city, district, how])
random.Random(7).shuffle(out)
with open(sys.argv[2], 'w', encoding='utf-8', newline='') as f:
    w = csv.writer(f)
    w.writerow(['留言编号', '留言主题', '留言详情', '单位', '层级', '部门', '文中市', '文中区县', '来源', 'fold'])
    for i, row in enumerate(out):
        w.writerow(row + [i % 5])
print(f"department units: {len(out)}, {len(set(r[3] for r in out))} distinct; written to {sys.argv[2]}")
